"""Concept sets: content words, candidate pools, synonym selectors, noise controls, the concept-set file."""
