/* The C interface for providers is a header only: include/teardown_provider.h. */
