// Loaded between require.js and embed-amd.js: the widget bundles find their icon fonts next to their own AMD module
// ids, which requirejs resolves against the page; map those ids to this folder so the fonts load from the site itself.
(function () {
  var here = document.documentElement.dataset.content_root + '_static/widgets';
  require.config({paths: {'@jupyter-widgets': here, '@jupyter-widgets/html-manager/dist': here}});
})();
