"""Singer inline mapper that validates records against data-quality rules."""

from mapper_wms_validate.sdk_import import defer_package_init

# before any module of this package imports the SDK (see sdk_import.py)
defer_package_init()
