import pathlib
import re

from setuptools import find_packages, setup

# The version lives in one place, tf_cbam_style/__init__.py; it is read here
# without importing the package (which would need its dependencies).
VERSION = re.search(
    r'^__version__ = "([^"]+)"',
    (pathlib.Path(__file__).parent / "tf_cbam_style" / "__init__.py").read_text(encoding="utf-8"),
    re.M,
).group(1)

setup(
    name="tf_cbam_style",
    version=VERSION,
    description="Attention-aware arbitrary neural style transfer (CBAM / AAMS) in TensorFlow/Keras",
    license="Apache-2.0",
    license_files=["LICENSE"],
    classifiers=[
        "License :: OSI Approved :: Apache Software License",
        "Programming Language :: Python :: 3",
        "Operating System :: OS Independent",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Topic :: Multimedia :: Graphics",
    ],
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["tf_cbam_style", "tf_cbam_style.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow-cpu==2.21.*; platform_machine != 'aarch64'",
        "numpy",
        "pillow",
        "tqdm",
        "tensorboard",
        "matplotlib",
    ],
    extras_require={
        # `client --grpc`, `serve-standin`, `load-test` and the warm-up requests
        # of `export saved-model` also need tensorflow-serving-api, which
        # declares a dependency on the full `tensorflow` package and would
        # install a second TensorFlow over tensorflow-cpu: install it with
        # `pip install --no-deps "tensorflow-serving-api==2.21.*"` (see
        # README; the commands name this when it is missing).
        "serving": ["grpcio>=1.60"],
        # The external Magenta peer of `tf-cbam-style evaluate/benchmark`, and
        # the CIEDE2000 colour difference of `tf-cbam-style saliency`.
        "eval": ["onnxruntime>=1.20", "scikit-image>=0.22"],
        # `tf-cbam-style train --data tfds:NAME` (TensorFlow Datasets, e.g. tfds:coco/2017).
        "tfds": ["tensorflow-datasets>=4.9"],
        "test": ["pytest", "grpcio>=1.60", "onnxruntime>=1.20", "scikit-image>=0.22", "tensorflow-datasets>=4.9"],
    },
    entry_points={"console_scripts": ["tf-cbam-style=tf_cbam_style.cli:main"]},
    include_package_data=True,
)
