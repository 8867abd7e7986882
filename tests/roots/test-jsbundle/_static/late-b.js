window.order.push("late-b");
//# sourceMappingURL=late-b.js.map
