from fangfan.common import codes as C


def test_it_looks_up_every_spelling_of_a_code():
    lookup = C.RELATION.lookup()
    assert lookup["户主"] == "head" and lookup["head"] == "head"
    assert C.RELATION.normalise(" 户主 ") == "head" and C.RELATION.normalise("邻居") is None


def test_it_keeps_labels_and_order():
    assert C.HOUSEHOLD_TYPE.codes == ("lifted", "ordinary")
    assert C.HOUSEHOLD_TYPE.label("ordinary") == "一般农户"
    assert C.HOUSEHOLD_TYPE.order() == {"lifted": 0, "ordinary": 1}


def test_it_lists_every_code_list_under_its_name():
    assert all(name == cl.name for name, cl in C.CODE_LISTS.items())
    assert all(len(set(cl.codes)) == len(cl.codes) for cl in C.CODE_LISTS.values())


def test_it_keeps_yes_and_no_apart():
    assert C.YES_VALUES.isdisjoint(C.NO_VALUES) and "是" in C.YES_VALUES and "否" in C.NO_VALUES
