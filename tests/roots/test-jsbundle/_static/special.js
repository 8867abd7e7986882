window.order.push("special");
