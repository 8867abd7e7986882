"""Reference implementations behind the posts of 机器学习笔记 (ML Notes).

One module per topic; pure NumPy functions whose docstrings carry the math.
"""

__version__ = "0.1.0"
