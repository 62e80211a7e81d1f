"""MLflow "models from code" entry point: MLflow runs this file to get the served Python model."""

from mlflow.models import set_model

from mtl.registry.pyfunc import MultiTaskPyfunc

set_model(MultiTaskPyfunc())
