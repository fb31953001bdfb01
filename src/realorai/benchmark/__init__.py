"""``realorai benchmark``: a detector measured per dataset, under perturbations, and leave-one-dataset-out."""
