"""The report's family: its custom CNN and frozen-backbone transfer models, their preprocessing,
training (``train.fit``) and scoring."""
