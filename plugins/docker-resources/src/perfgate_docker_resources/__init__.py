"""perfgate collector ``docker-resources``: what containers use while the load runs."""
