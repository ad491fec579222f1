"""fangfan (防返): dynamic monitoring and assistance against (re)falling into poverty."""
