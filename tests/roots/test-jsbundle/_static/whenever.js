window.order.push("whenever");
