"""One page (``special``) adds a classic script of its own between the bundled ones."""


def setup(app):
    def add(app, pagename, templatename, context, doctree):
        if pagename == "special":
            app.add_js_file("special.js", priority=305)  # between first.js and tagged.js

    app.connect("html-page-context", add, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
