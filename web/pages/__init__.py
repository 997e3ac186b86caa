"""Server-rendered pages: the staff dashboard, party pages (no login) and mediator pages."""
