from shared.migrations.env_common import run_env

run_env()
