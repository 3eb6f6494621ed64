"""pcnsim's version, in a module of its own at the bottom of the layers.

The experiment's manifest, the resolved-scenario header and `pcnsim --version` read it here
rather than from the façade `pcnsim/__init__.py`, which imports the upper layers (lazily):
importing the façade from inside the package would close an import cycle through it.
"""
__version__ = "0.1.0"
