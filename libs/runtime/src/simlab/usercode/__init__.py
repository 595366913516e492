"""Loading and inspecting users' own code (a bundle): a function-form `simulate`, a full
`MODEL`, or a script. Runs in the worker only; the gateway and job store never import user
code."""

from simlab.usercode.errors import UserCodeError
from simlab.usercode.inspection import Inspection, inspect
from simlab.usercode.loader import LoadedCode, load

__all__ = ["Inspection", "LoadedCode", "UserCodeError", "inspect", "load"]
