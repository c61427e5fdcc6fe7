from setuptools import find_packages, setup

setup(
    name="tf_cbam_style",
    version="0.1.0",
    description="Attention-aware arbitrary neural style transfer (CBAM / AAMS) in TensorFlow/Keras",
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
        # tensorflow-serving-api itself declares a dependency on the full
        # `tensorflow` package, which would install a second TensorFlow over
        # tensorflow-cpu: install it with `pip install --no-deps
        # "tensorflow-serving-api==2.21.*"` (see README).
        "serving": ["grpcio>=1.60"],
        # The external Magenta peer of `tf-cbam-style evaluate/benchmark`, and
        # the CIEDE2000 colour difference of `tf-cbam-style saliency`.
        "eval": ["onnxruntime>=1.20", "scikit-image>=0.22"],
        "test": ["pytest", "grpcio>=1.60", "onnxruntime>=1.20", "scikit-image>=0.22"],
    },
    entry_points={"console_scripts": ["tf-cbam-style=tf_cbam_style.cli:main"]},
    include_package_data=True,
)
