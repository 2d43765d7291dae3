"""The client side of Autotest: what runs on the machine under test."""
