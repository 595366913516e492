"""Pure logic shared by the services: statistics, block plans, parameter validation."""
