"""pdreport: the Pudong carbon-peak notice as data, and its quarterly reporting cycle."""

__version__ = "0.1.0"

from .errors import PdreportError
from .plan import load_plan

__all__ = ["PdreportError", "__version__", "load_plan"]
