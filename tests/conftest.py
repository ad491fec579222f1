import os

# Keep generated secrets and data of test runs out of the repo's var/.
os.environ.setdefault("FANGFAN_DATA_DIR", "/tmp/fangfan-test-data")
