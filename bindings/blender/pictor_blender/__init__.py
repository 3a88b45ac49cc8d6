"""Pictor for Blender: render the current scene on a Pictor network from Render Properties.

Blender 3.x reads ``bl_info``; Blender 4.2+ reads ``blender_manifest.toml`` (an extension, with
the ``pictor`` wheel installed by Blender). The add-on also carries the ``pictor`` package
unpacked under ``vendor/`` (extension modules do not import from a zip), put on ``sys.path``
here, so ``import pictor`` works inside Blender's own Python with no pip install.
"""

import os
import sys

bl_info = {
    "name": "Pictor",
    "author": "Pictor developers",
    "version": (0, 1, 0),
    "blender": (3, 1, 0),
    "location": "Properties › Render › Pictor",
    "description": "Render the scene on a Pictor decentralized GPU network",
    "category": "Render",
}

_VENDOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor")
if os.path.isdir(_VENDOR) and _VENDOR not in sys.path:
    sys.path.insert(0, _VENDOR)

from . import operators, panel, preferences, properties  # noqa: E402

_MODULES = (preferences, properties, operators, panel)


def register() -> None:
    """Registers the preferences, properties, operators and the panel."""
    for module in _MODULES:
        module.register()


def unregister() -> None:
    """Undoes :func:`register`, cancelling any render session still running."""
    for module in reversed(_MODULES):
        module.unregister()
