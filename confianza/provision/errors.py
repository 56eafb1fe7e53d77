"""The error every provisioning call raises for a condition the operator can fix."""


class ProvisioningError(RuntimeError):
    """A one-line reason and what to do about it; the CLI prints it and exits 2."""
