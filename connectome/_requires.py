"""Checked first on ``import connectome``: the packages the whole package needs.

The GLM/HMM-GLM fits and the torch NTF backend run on torch, which is an extra of the
distribution (``pip install 'neuroloom[connectome]'``), not a core dependency; without it
``import connectome`` raises :class:`~neurodata.errors.MissingDependencyError` saying what
to install instead of failing deep inside a module.
"""

from neurodata.dependencies import import_optional

import_optional("torch", extra="connectome", feature="the connectome package")
