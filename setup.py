"""Builds the optional compiled simulation core; without a compiler gigawatt runs pure Python."""

from setuptools import Extension, setup

try:
    from Cython.Build import cythonize

    extensions = cythonize(
        [Extension("gigawatt.sim._fastgang", ["src/gigawatt/sim/_fastgang.pyx"], optional=True)],
        language_level=3,
    )
except ImportError:  # no Cython in the build environment: pure Python only
    extensions = []

setup(ext_modules=extensions)
