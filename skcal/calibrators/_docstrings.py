"""Parameter and attribute descriptions shared by every calibrator's docstring."""

_COMMON_PARAMETERS_DOC = """\
    estimator : estimator instance, default=None
        The classifier whose outputs are calibrated. ``None`` means that ``X``
        passed to ``fit`` and ``predict_proba`` already holds scores: logits or
        probabilities of shape (n_samples, n_classes), or one score per sample
        for a binary problem. A classifier is cross-fitted over ``cv``; a
        :class:`~sklearn.frozen.FrozenEstimator` is used as it is, and all of
        ``X`` calibrates it: its ``classes_`` are the calibrator's, of which
        ``y`` may lack some.

    cv : int, cross-validation generator or iterable, default=None
        Only with a classifier that is not frozen. The folds used to produce
        out-of-fold scores; ``None`` means 5 stratified folds. Every training
        part must contain every class: a class with a single sample is
        refused, and a class with fewer samples than folds is fitted with
        scikit-learn's warning. For a classifier fitted already, there is no
        ``cv='prefit'``: wrap it in :class:`~sklearn.frozen.FrozenEstimator`.

    ensemble : bool, default=False
        Only with a classifier that is not frozen. ``False``: one calibration
        map is fitted on all out-of-fold scores and the classifier is refitted
        on all data. ``True``: one (classifier, map) pair per fold, whose
        probabilities are averaged at prediction time.

    n_jobs : int, default=None
        Only with a classifier that is not frozen: folds fitted in parallel
        with joblib. ``None`` means 1 unless in a joblib context.

    response_method : {'auto', 'decision_function', 'predict_log_proba', \
            'predict_proba'}, default='auto'
        Only with a classifier: which output is calibrated. ``'auto'`` takes
        the first the classifier has of ``decision_function``,
        ``predict_log_proba`` (the exact log-probabilities, finite where
        ``predict_proba`` underflows to 0) and the log of ``predict_proba``.
        Log-probabilities of exactly ``-inf`` (probability 0) are floored at
        the log of the dtype's smallest normal.

    score_type : {'auto', 'logits', 'probabilities'}, default='auto'
        Only without a classifier: what ``X`` holds. ``'auto'`` reads it as
        probabilities when every row lies in the probability simplex (for 1-D
        binary scores: every value in [0, 1]), else as logits. The choice is
        kept in ``score_type_`` and applied again at prediction time; there,
        after ``'auto'`` read logits, scores whose first rows all lie in the
        simplex are refused (``'logits'`` says they are logits). Scores of
        shape ``(..., n_classes)`` (say ``(batch, sequence, vocabulary)``) are
        read as ``(n, n_classes)`` with labels of shape ``(...)``, and outputs
        come back shaped ``(..., n_classes)``.

    ignore_index : label, default=None
        Rows whose label is ``ignore_index`` (the padding label ``-100`` of
        language-model batches, say) are left out of the fit, as with weight 0.
        A row of ``sample_weight`` 0 may hold any label.
"""

_COMMON_ATTRIBUTES_DOC = """\
    classes_ : ndarray of shape (n_classes,)
        The class labels. Without a classifier, integer labels 0..K-1 index the
        K score columns; other labels are the sorted distinct labels of ``y``.

    n_features_in_ : int
        Number of features (with a classifier) or score columns seen in ``fit``.

    feature_names_in_ : ndarray of str
        The column names of a DataFrame given to ``fit`` (string names only).
        Without a classifier these name the score columns, that is the
        classes: predicting from a frame whose columns are in another order is
        refused, as scikit-learn refuses it.

    score_type_ : {'logits', 'probabilities'}
        Without a classifier: how ``X`` was read.

    probability_floor_ : float or None
        The probability that an exact zero (and any smaller probability) is read
        as, at fit and predict: half the smallest positive probability of the
        calibration data when its probabilities (the scores, or the classifier's
        ``predict_proba``) hold an exact zero, such as a random forest's vote
        fractions; None otherwise (then a zero's log is the smallest normal
        number's, -708 in float64, which would pull a scaling map towards the
        few rows that have one).

    response_method_ : str
        With a classifier: the method whose output is calibrated.

    estimator_ : estimator instance
        With a classifier and ``ensemble=False``: the classifier fitted on all
        the data (or the frozen one).

    estimators_ : list of estimator instances
        With ``ensemble=True``: the classifier of each fold. The fitted map
        attributes then hold one entry per fold, stacked on the first axis.
"""
