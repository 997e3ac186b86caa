"""The staff API, one router per area; mounted under ``/api`` by ``web.app.create_app``."""
