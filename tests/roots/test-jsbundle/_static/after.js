window.order.push("after");
