// The index's search and filters (kind, tag, owner). The rest of the site needs no script.
(function () {
  'use strict';
  var table = document.getElementById('definitions');
  if (!table) {
    return;
  }
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var search = document.getElementById('search');
  var selects = ['kind', 'tag', 'owner'].map(function (id) {
    return document.getElementById(id);
  });
  var shown = document.getElementById('shown');

  function matches(row, query) {
    var tags = JSON.parse(row.getAttribute('data-tags'));
    return (!query || row.getAttribute('data-text').indexOf(query) !== -1) &&
      (!selects[0].value || row.getAttribute('data-kind') === selects[0].value) &&
      (!selects[1].value || tags.indexOf(selects[1].value) !== -1) &&
      (!selects[2].value || row.getAttribute('data-owner') === selects[2].value);
  }

  function apply() {
    var query = search.value.trim().toLowerCase();
    var count = 0;
    rows.forEach(function (row) {
      var keep = matches(row, query);
      row.hidden = !keep;
      if (keep) {
        count += 1;
      }
    });
    shown.textContent = count + ' of ' + rows.length + ' shown';
  }

  function choose(id, value) {
    var select = document.getElementById(id);
    var known = Array.prototype.some.call(select.options, function (option) {
      return option.value === value;
    });
    select.value = known ? value : '';
  }

  // index.html#tag=email (the tag links of the definition pages) opens the index filtered
  function fromHash() {
    var hash = window.location.hash.replace(/^#/, '');
    hash.split('&').forEach(function (part) {
      var pair = part.split('=');
      if (pair.length === 2 && (pair[0] === 'tag' || pair[0] === 'owner' || pair[0] === 'kind')) {
        choose(pair[0], decodeURIComponent(pair[1]));
      }
    });
    apply();
  }

  search.addEventListener('input', apply);
  selects.forEach(function (select) {
    select.addEventListener('change', apply);
  });
  table.addEventListener('click', function (event) {
    var tag = event.target.closest('a.tag');
    if (tag) {
      event.preventDefault();
      choose('tag', tag.getAttribute('data-tag'));
      apply();
    }
  });
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
