"use strict";
window.order.push(document.currentScript.getAttribute("data-prefix") + "tagged")
