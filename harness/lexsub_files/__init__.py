"""Readers of the gold-annotated lexical-substitution files (SemEval-2007 task 10, CoInCo): the engine reads
them as corpora (``--corpus coinco``, a ``lexsub_test.xml``), the concept pipeline also scores against their gold."""
