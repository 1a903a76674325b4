"""The synthetic world (not inference): videos of objects that move, with their ground truth (`world.py`),
the language that describes them (`language.py`), training samples drawn from them (`samples.py`), and the
recipe that trains the shipped demo model on them (`demo_recipe.py`)."""
