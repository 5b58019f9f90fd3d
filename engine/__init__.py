"""PhotoMend engine: photo I/O, ONNX inference, instruction understanding, blur detection, batch runs.

Runtime dependencies only: numpy, onnxruntime, Pillow, OpenCV, platformdirs, tokenizers.
No PySide6, torch or gi may be imported from here (enforced by an import-linter contract).
"""

__version__ = "0.1.0"
