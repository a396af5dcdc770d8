"""Build macros shared by every package."""

def kvlog_cc_test(name, srcs = None, deps = [], size = "small", gtest_main = True, **kwargs):
    """A gtest cc_test in kvlog's usual shape.

    Args:
      name: the test's name; its source is `name + ".cc"` unless `srcs` is given.
      srcs: the sources, when not the one file named after the test.
      deps: what the test uses, without gtest (added here).
      size: the Bazel test size; kvlog's tests are small (seconds).
      gtest_main: link gtest's main(); False for a test with its own main, which
        still gets gtest itself.
      **kwargs: anything else cc_test takes (tags, data, args, env, timeout...).
    """
    gtest = "//third_party:gtest_main" if gtest_main else "//third_party:gtest"
    native.cc_test(
        name = name,
        size = size,
        srcs = srcs if srcs != None else [name + ".cc"],
        deps = deps + [gtest],
        **kwargs
    )
