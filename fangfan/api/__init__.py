"""The JSON API (/api/v1/): one django-ninja NinjaAPI mounting a router per area. Handlers
call the same services and selectors as the pages, so scope and role are enforced once."""
