"""tf_cbam_style: attention-aware arbitrary neural style transfer in Keras.

Importing the package only defines classes and functions; models, weights and
optional extras (serving, tfjs) load when they are used.
"""

__version__ = "0.1.0"

from tf_cbam_style import layers, models
from tf_cbam_style.api import METHODS, StylizeResult, load_model, stylize


__all__ = ["METHODS", "StylizeResult", "layers", "load_model", "models", "stylize", "__version__"]
