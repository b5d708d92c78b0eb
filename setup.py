"""Installable package of the news pipeline; Dataflow workers install it from --setup_file."""

import pathlib
import re

import setuptools

HERE = pathlib.Path(__file__).parent


def read_version() -> str:
    text = (HERE / "pipeline" / "version.py").read_text()
    return re.search(r'PIPELINE_VERSION = "([^"]+)"', text).group(1)


def read_requirements(name: str) -> list[str]:
    lines = (HERE / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith(("#", "-"))]


setuptools.setup(
    name="news-ingestion-pipeline",
    version=read_version(),
    description="Apache Beam pipeline: raw news (text, HTML, JSON lines, WARC) to clean Parquet",
    python_requires=">=3.10",
    packages=setuptools.find_packages(include=["pipeline*", "transforms*", "schemas*"]),
    # The rule table and casing tables, and where the tables come from (their licences).
    package_data={"transforms.data": ["*.tsv", "*.tsv.gz", "*.json", "*.md"]},
    install_requires=read_requirements("requirements.txt"),
    extras_require={"test": read_requirements("requirements-test.txt")},
    entry_points={"console_scripts": ["news-pipeline=pipeline.__main__:main"]},
)
