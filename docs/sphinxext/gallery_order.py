"""The order of the gallery: the examples tell a story, from what a recurrent network
reads to how fast it trains, so they are listed in that order rather than by name.

sphinx-gallery imports this class by name (a class defined in conf.py could not be
cached with the build environment).
"""

STORY = [
    "plot_negation_hidden_state.py",
    "plot_loss_curves.py",
    "plot_text_generation.py",
    "plot_time_series_confusion.py",
    "plot_regression_ragged.py",
    "plot_tagging_regimes.py",
    "plot_dask_search.py",
    "plot_speed_vs_pytorch.py",
]


class StoryOrder:
    """Sort key: the examples of ``STORY`` in its order, then any other by name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        if filename in STORY:
            return (0, STORY.index(filename), filename)
        return (1, 0, filename)

    def __repr__(self):
        return f"<{self.__class__.__name__}>"
