"""The platform lab: simulated platforms on loopback."""
