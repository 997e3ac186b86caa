"""The HTTP face of the service: staff API, staff dashboard, party pages and mediator pages.

Everything is built by :func:`web.app.create_app` from collaborators the composition root passes
in; nothing here is built at import time.
"""
