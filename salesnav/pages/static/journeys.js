// The journey builder (admin/journey_edit.html): show each step only the fields its type uses.
// Without this script every field shows and the page still works; the server keeps only the step type's part.
(function () {
  'use strict';
  var form = document.getElementById('builder');
  if (!form) { return; }

  function show(el, on) { if (on) { el.removeAttribute('hidden'); } else { el.setAttribute('hidden', ''); } }

  function refresh(step) {
    var kind = step.querySelector('select.step-kind').value;
    step.setAttribute('data-kind', kind);
    step.querySelectorAll('.part').forEach(function (part) {
      var name = part.getAttribute('data-part');
      show(part, name === kind || (name === 'next' && kind !== 'condition'));
    });
    var owner = step.querySelector('select.owner-type').value;
    step.querySelectorAll('.owner-part').forEach(function (part) {
      show(part, part.getAttribute('data-owner') === owner);
    });
    var action = step.querySelector('select.action-type').value;
    step.querySelectorAll('.email-only').forEach(function (part) { show(part, action === 'email'); });
  }

  // A step's new name shows at once in the other steps' "转到" lists (they name steps by number and name).
  function renameTargets(step) {
    var key = step.getAttribute('data-key');
    var number = Number(step.getAttribute('data-index')) + 1;
    var title = step.querySelector('input[name$=".title"]').value.trim() || '（未命名）';
    form.querySelectorAll('option[value="' + key + '"]').forEach(function (option) {
      if (option.parentElement.closest('fieldset.step') !== step) { option.textContent = '第 ' + number + ' 步：' + title; }
    });
  }

  form.querySelectorAll('fieldset.step').forEach(function (step) {
    step.querySelector('input[name$=".title"]').addEventListener('input', function () { renameTargets(step); });
    refresh(step);
    step.addEventListener('change', function (event) {
      if (event.target.matches('select.step-kind, select.owner-type, select.action-type')) { refresh(step); }
      if (event.target.matches('select.text-template')) {
        // A ready text goes into an empty 内容 at once (without script the server fills it on save).
        var chosen = event.target.selectedOptions[0];
        var text = step.querySelector('textarea[name$=".action.text"]');
        if (chosen && chosen.getAttribute('data-text') && !text.value.trim()) { text.value = chosen.getAttribute('data-text'); }
      }
    });
  });
}());
