r"""A tiny reverse-mode automatic differentiation engine over NumPy arrays.

Every :class:`Tensor` produced by an operation remembers its parents and, for each
parent, a function that maps the gradient of the output to the gradient of that
parent: a vector-Jacobian product (VJP),

.. math:: \bar u = \bar y^\top \frac{\partial y}{\partial u},

where :math:`\bar y = \partial L/\partial y` is the "adjoint" of :math:`y`.
:meth:`Tensor.backward` visits the graph in reverse topological order, so every
node has received the adjoints from all of its consumers before it passes its own
on.  Like PyTorch, only leaf tensors created with ``requires_grad=True`` keep a
``.grad``, and ``.grad`` accumulates over calls to ``backward`` until it is reset.

Supported: ``+``, ``-``, ``*`` (with NumPy broadcasting), ``@`` (2-D), :func:`tanh`,
:func:`exp`, :func:`log`, :func:`tsum` and the :func:`no_grad` context.  New operations
with a hand-written VJP subclass :class:`Function`, the counterpart of
``torch.autograd.Function`` (:class:`LogXYExp` is the example).  The VJPs work on plain
NumPy arrays and record nothing, so this engine gives first derivatives only.

Explained in the post ``posts/pytorch-autograd``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np

__all__ = [
    "Tensor",
    "no_grad",
    "tanh",
    "exp",
    "log",
    "tsum",
    "topological_order",
    "adjoints",
    "trace",
    "Context",
    "Function",
    "LogXYExp",
]

_grad_enabled = [True]          # one switch, like torch.is_grad_enabled()


@contextlib.contextmanager
def no_grad():
    """Inside this block operations record no graph (cf. ``torch.no_grad``).

    >>> x = Tensor([1.0], requires_grad=True)
    >>> with no_grad():
    ...     y = x * 2.0
    >>> y.requires_grad, y.grad_fn
    (False, None)
    """
    previous = _grad_enabled[0]
    _grad_enabled[0] = False
    try:
        yield
    finally:
        _grad_enabled[0] = previous


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes along which an operand of ``shape`` was broadcast."""
    while grad.ndim > len(shape):                       # leading axes added by broadcasting
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):                 # axes stretched from size 1
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Tensor:
    """An array with an optional gradient and a link to the operation that made it.

    >>> x = Tensor(3.0, requires_grad=True)
    >>> y = x * x + x                  # dy/dx = 2x + 1
    >>> y.backward()
    >>> x.grad
    array(7.)
    >>> x.is_leaf, y.is_leaf, y.grad_fn
    (True, False, 'AddBackward')
    """

    def __init__(self, data, requires_grad: bool = False, _parents: tuple = (), _op: str = ""):
        self.data = np.asarray(data, dtype=float)
        self.requires_grad = requires_grad
        self.grad: np.ndarray | None = None
        self._parents = _parents        # tuple of (parent Tensor, vjp: grad_out -> grad_parent)
        self._op = _op

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def is_leaf(self) -> bool:
        return not self._parents

    @property
    def grad_fn(self) -> str | None:
        return f"{self._op}Backward" if self._parents else None

    def __repr__(self) -> str:
        return f"Tensor({self.data!r}, grad_fn={self.grad_fn})"

    # -- operations -----------------------------------------------------------------------
    def __add__(self, other):
        other = _as_tensor(other)
        return _make(self.data + other.data, "Add",
                     (self, lambda g: _unbroadcast(g, self.shape)),
                     (other, lambda g: _unbroadcast(g, other.shape)))

    def __mul__(self, other):
        other = _as_tensor(other)
        return _make(self.data * other.data, "Mul",
                     (self, lambda g: _unbroadcast(g * other.data, self.shape)),
                     (other, lambda g: _unbroadcast(g * self.data, other.shape)))

    def __matmul__(self, other):
        other = _as_tensor(other)                       # (n, k) @ (k, m) -> (n, m)
        return _make(self.data @ other.data, "Mm",
                     (self, lambda g: g @ other.data.T),          # (n, m) @ (m, k)
                     (other, lambda g: self.data.T @ g))          # (k, n) @ (n, m)

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-_as_tensor(other))

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other):
        return _as_tensor(other) + (-self)

    # -- reverse pass ---------------------------------------------------------------------
    def backward(self, grad=None) -> None:
        r"""Accumulate :math:`v^\top \partial(\text{self})/\partial(\text{leaf})` into each leaf's ``.grad``.

        ``grad`` is the vector :math:`v` (same shape as ``self``); it may be omitted
        only when ``self`` holds a single number, where :math:`v = 1`.
        """
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            grad = np.ones_like(self.data)
        nodes, bars = adjoints(self, grad)
        for node, g in zip(nodes, bars, strict=True):
            if node.is_leaf and node.requires_grad and g is not None:
                node.grad = np.array(g if node.grad is None else node.grad + g, dtype=float)


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _make(data: np.ndarray, op: str, *parents: tuple[Tensor, Callable]) -> Tensor:
    """Wrap ``data`` as the output of ``op``, recording the parents that need a gradient."""
    tracked = tuple((p, vjp) for p, vjp in parents if p.requires_grad)
    if not (_grad_enabled[0] and tracked):
        return Tensor(data)
    return Tensor(data, requires_grad=True, _parents=tracked, _op=op)


def tanh(x: Tensor) -> Tensor:
    r"""Elementwise :math:`\tanh`; VJP :math:`\bar x = \bar y\,(1-y^2)`.

    >>> x = Tensor(0.0, requires_grad=True); tanh(x).backward(); x.grad
    array(1.)
    """
    y = np.tanh(x.data)
    return _make(y, "Tanh", (x, lambda g: g * (1.0 - y ** 2)))


def exp(x: Tensor) -> Tensor:
    r"""Elementwise :math:`e^x`; VJP :math:`\bar x = \bar y\,e^x`.

    >>> x = Tensor(0.0, requires_grad=True); exp(x).backward(); x.grad
    array(1.)
    """
    y = np.exp(x.data)
    return _make(y, "Exp", (x, lambda g: g * y))


def log(x: Tensor) -> Tensor:
    r"""Elementwise natural logarithm; VJP :math:`\bar x = \bar y / x`.

    >>> x = Tensor(4.0, requires_grad=True); log(x).backward(); x.grad
    array(0.25)
    """
    return _make(np.log(x.data), "Log", (x, lambda g: g / x.data))


def tsum(x: Tensor) -> Tensor:
    r"""Sum of all entries; VJP copies the scalar adjoint to every entry, :math:`\bar x = \bar y\,\mathbf 1`.

    >>> x = Tensor([[1.0, 2.0]], requires_grad=True); tsum(x).backward(); x.grad
    array([[1., 1.]])
    """
    return _make(np.asarray(x.data.sum()), "Sum",
                 (x, lambda g: np.broadcast_to(g, x.shape).copy()))


def topological_order(root: Tensor) -> list[Tensor]:
    """Every node that ``root`` depends on, each after all of its parents (depth-first).

    >>> a = Tensor(1.0, requires_grad=True); b = a * 2.0; c = b + a
    >>> [t.grad_fn for t in topological_order(c)]
    [None, 'MulBackward', 'AddBackward']
    """
    order, seen = [], set()

    def visit(node: Tensor) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        for parent, _ in node._parents:
            visit(parent)
        order.append(node)

    visit(root)
    return order


def adjoints(root: Tensor, grad) -> tuple[list[Tensor], list[np.ndarray | None]]:
    r"""The adjoint :math:`v^\top\partial\,\text{root}/\partial n` of every node :math:`n` below ``root``.

    Nodes come in topological order; they are visited in reverse, so that a node has
    collected the contributions of all its consumers (summed, for a node used twice)
    before it hands its own adjoint to its parents through their VJPs.

    >>> a = Tensor(3.0, requires_grad=True); b = a * a
    >>> nodes, bars = adjoints(b, 1.0)
    >>> [float(g) for g in bars]        # db/da = 2a, two contributions of a = 3 each
    [6.0, 1.0]
    """
    nodes = topological_order(root)
    bars: dict[int, np.ndarray] = {id(root): np.asarray(grad, dtype=float)}
    for node in reversed(nodes):
        g = bars.get(id(node))
        if g is None:
            continue
        for parent, vjp in node._parents:
            bars[id(parent)] = bars[id(parent)] + vjp(g) if id(parent) in bars else vjp(g)
    return nodes, [bars.get(id(n)) for n in nodes]


def trace(root: Tensor) -> tuple[list[Tensor], list[tuple[int, int]]]:
    """The graph below ``root`` as a node list (topological order) and ``(parent, child)`` index pairs.

    >>> a = Tensor(1.0, requires_grad=True); nodes, edges = trace(a * a)
    >>> len(nodes), edges                # a is used twice by the product
    (2, [(0, 1), (0, 1)])
    """
    nodes = topological_order(root)
    index = {id(n): i for i, n in enumerate(nodes)}
    edges = [(index[id(p)], index[id(n)]) for n in nodes for p, _ in n._parents]
    return nodes, edges


class Context:
    """What :meth:`Function.forward` leaves for :meth:`Function.backward` (the ``ctx`` argument).

    ``needs_input_grad[i]`` says whether input ``i`` wants a gradient; arrays stored with
    :meth:`save_for_backward` come back as ``saved_tensors``.
    """

    def __init__(self, needs_input_grad: tuple[bool, ...]):
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple[np.ndarray, ...] = ()

    def save_for_backward(self, *arrays: np.ndarray) -> None:
        """Keep ``arrays`` (inputs or the output of ``forward``) for ``backward``."""
        self.saved_tensors = arrays


class Function:
    r"""An operation whose VJP is written by hand, like ``torch.autograd.Function``.

    Subclasses define two static methods: ``forward(ctx, *arrays)`` returns the output
    array, ``backward(ctx, grad)`` returns one gradient (or ``None``) per input.
    :meth:`apply` runs ``forward`` on the raw arrays, so nothing inside it is recorded,
    and makes a single graph node whose VJPs all come from one call of ``backward``.
    """

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray) -> np.ndarray:
        """The output, computed from the inputs' arrays; may call ``ctx.save_for_backward``."""
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        """The VJP: one gradient per input, ``None`` where ``ctx.needs_input_grad`` is False."""
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs) -> Tensor:
        """Run the operation on ``inputs`` (Tensors or numbers) and record it as one node."""
        inputs = tuple(_as_tensor(t) for t in inputs)
        ctx = Context(tuple(_grad_enabled[0] and t.requires_grad for t in inputs))
        out = cls.forward(ctx, *(t.data for t in inputs))
        last: list = [None, None]                 # (adjoint, backward(ctx, adjoint)) of the last call

        def vjp(i: int) -> Callable:
            def pullback(g: np.ndarray) -> np.ndarray:
                if last[0] is not g:              # one backward call serves every input
                    last[:] = [g, cls.backward(ctx, g)]
                return last[1][i]
            return pullback

        return _make(np.asarray(out, dtype=float), cls.__name__,
                     *((t, vjp(i)) for i, t in enumerate(inputs)))


class LogXYExp(Function):
    r"""The post's running example :math:`L=\log u,\ u = xy+e^x` as one node (elementwise).

    .. math:: \bar x = \bar L\,\frac{y+e^x}{u},\qquad \bar y = \bar L\,\frac{x}{u}

    >>> x, y = Tensor(0.5, requires_grad=True), Tensor(2.0)
    >>> loss = LogXYExp.apply(x, y)
    >>> loss.grad_fn, loss.is_leaf
    ('LogXYExpBackward', False)
    >>> loss.backward(); round(float(x.grad), 5), y.grad
    (1.37754, None)
    """

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)               # inputs only: backward recomputes u
        return np.log(x * y + np.exp(x))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        u = x * y + np.exp(x)
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_x = _unbroadcast(grad * (y + np.exp(x)) / u, x.shape)
        if ctx.needs_input_grad[1]:
            grad_y = _unbroadcast(grad * x / u, y.shape)
        return grad_x, grad_y
