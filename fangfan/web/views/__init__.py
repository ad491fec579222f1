"""Thin views over services and selectors, one module per area; each module ends with its
`urlpatterns`, included by fangfan/urls.py."""
