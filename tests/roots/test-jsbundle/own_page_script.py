"""One page (``special``) adds a classic script of its own between the bundled ones;
every page has an inline script."""


def setup(app):
    def add(app, pagename, templatename, context, doctree):
        if pagename == "special":
            app.add_js_file("special.js", priority=305)  # between first.js and tagged.js

    app.connect("html-page-context", add, priority=100)
    # an inline script on every page: never bundled, and no file to look for
    app.add_js_file(None, body="window.inline = true;", priority=850)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
