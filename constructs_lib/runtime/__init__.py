"""The ecskit runtime: boto3-only operations and the ``ecskit`` CLI.

Never import ``aws_cdk`` here (directly or via ``constructs_lib``'s constructs): the CLI must
start fast. ``tests/test_import_boundary.py`` enforces it.
"""
