"""Build hook: the package list, so that a wheel carries resources/ inside engine/ (see pyproject.toml).

Everything else lives in pyproject.toml. resources/ stays at the top of the source tree, where training,
benches and tests read it; a wheel maps it to the package directory engine/_resources (package-dir in
pyproject.toml), so `pip install .` carries the models, icons and sample photo without a second copy in git.
pyproject.toml alone cannot add a mapped package to the ones `packages.find` discovers, hence this file.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["engine*", "desktop*", "plugin_gimp*"]),
        "engine._resources",
    ],
)
