window.order.push("late-a");
