"""Improvement actions: corrective and preventive work, its proof, and "you said, we did"."""
