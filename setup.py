"""Maps the top-level folders onto the ``confianza.*`` import names (see DESIGN.md, Layout).

``schemas/ producers/ streams/ consumers/`` install as ``confianza.schemas`` and so on, so the
distribution never claims a generic top-level name in site-packages. Every sub-package below a
folder is found automatically; data files (JSON Schemas, YAML) ship inside the packages.
"""

from setuptools import find_packages, setup

FOLDERS = {
    "confianza": "confianza",
    "confianza.schemas": "schemas",
    "confianza.producers": "producers",
    "confianza.streams": "streams",
    "confianza.consumers": "consumers",
}

packages = []
for name, folder in FOLDERS.items():
    packages.append(name)
    packages.extend(f"{name}.{sub}" for sub in find_packages(folder))

setup(
    packages=packages,
    package_dir=FOLDERS,
    package_data={"": ["*.json", "*.yaml", "*.txt", "**/*.json", "**/*.yaml"]},
)
