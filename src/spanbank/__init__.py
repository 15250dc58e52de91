"""spanbank: a versioned, span-annotated news corpus that moves between git, Doccano and the Hugging Face Hub."""

__version__ = "0.1.0"
